"""dlmskit.cli"""
