"""dlmskit.session"""
