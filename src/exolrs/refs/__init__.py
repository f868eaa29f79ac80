"""exolrs.refs"""
