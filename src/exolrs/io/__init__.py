"""exolrs.io"""
