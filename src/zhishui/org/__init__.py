"""Organisation units: bureaus, halls, service points, departments, the smart tax center."""
