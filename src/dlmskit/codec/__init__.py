"""dlmskit.codec"""
