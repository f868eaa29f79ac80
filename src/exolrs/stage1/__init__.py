"""exolrs.stage1"""
