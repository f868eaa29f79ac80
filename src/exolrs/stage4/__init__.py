"""exolrs.stage4"""
