"""exolrs.plots"""
