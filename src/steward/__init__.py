"""Steward: responsible machine learning checks, governed like security."""
