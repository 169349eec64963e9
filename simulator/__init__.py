"""A virtual Tesla: the Fleet API, the car's Bluetooth face and a Bluetooth proxy."""
