"""borders"""
