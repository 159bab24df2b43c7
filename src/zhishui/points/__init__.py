"""Service points (办税缴费点): devices, their use, utilisation, and finding the nearest point."""
