"""zhishui (智税): taxpayer service for a tax bureau, the "1+1+N" way."""

__version__ = "0.1.0"
