"""exolrs.stage3"""
