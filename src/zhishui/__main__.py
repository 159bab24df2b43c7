from zhishui.cli import main

main()
