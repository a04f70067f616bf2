"""Thin aiohttp views: parse and validate, call one service, render."""
