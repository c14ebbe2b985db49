"""The host agent: inspects its own server with psutil and pushes observations to the desk."""
