"""Reading uncal segments in chunks and writing/reading every product."""

from exolrs.io.chunks import Chunk, chunk_bounds, iter_chunks, read_integrations, read_pixeldq
from exolrs.io.products import (
    IntegrationsWriter,
    atomic_write,
    product_name,
    read_hot_pixel_map,
    read_integrations_product,
    write_hot_pixel_map,
)
from exolrs.io.segments import Exposure, discover_segments

__all__ = [
    "Chunk",
    "Exposure",
    "IntegrationsWriter",
    "atomic_write",
    "chunk_bounds",
    "discover_segments",
    "iter_chunks",
    "product_name",
    "read_hot_pixel_map",
    "read_integrations",
    "read_integrations_product",
    "read_pixeldq",
    "write_hot_pixel_map",
]
