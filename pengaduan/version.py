"""The version of pengaduan, named by the OpenAPI document and every evidence pack it makes.
A module of its own so that naming it imports nothing else of the application."""

__version__ = "0.1.0"
