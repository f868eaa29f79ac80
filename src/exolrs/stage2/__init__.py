"""exolrs.stage2"""
