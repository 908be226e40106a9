"""dlmskit.client"""
