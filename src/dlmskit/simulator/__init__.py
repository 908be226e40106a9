"""dlmskit.simulator"""
