"""Clinical photo intake: only real JPEG or PNG images, size and pixel caps, and every byte of
metadata (EXIF, including GPS location) dropped by re-encoding the pixels."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG"}


class PhotoRejected(ValueError):
    """The upload is not an acceptable photo; the message says why, for the clinician."""


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    format: str
    width: int
    height: int


def clean_photo(upload: IO[bytes], size: int | None = None) -> CleanPhoto:
    limit = settings.PHOTO_MAX_BYTES
    if size is not None and size > limit:
        raise PhotoRejected(f"The file is {size / 1_048_576:.1f} MB; the limit is "
                            f"{limit / 1_048_576:.0f} MB.")
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise PhotoRejected(f"The file is larger than {limit / 1_048_576:.0f} MB.")
    if not raw:
        raise PhotoRejected("The file is empty.")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then errors, on huge images: treat both as a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            image_format = probe.format or ""
            if image_format not in ALLOWED_FORMATS:
                raise PhotoRejected(f"Only JPEG or PNG photos are accepted (this file is "
                                    f"{image_format or 'not an image'}).")
            width, height = probe.size
            if width * height > settings.PHOTO_MAX_PIXELS:
                raise PhotoRejected(f"The image is {width}×{height} pixels; the limit is "
                                    f"{settings.PHOTO_MAX_PIXELS // 1_000_000} megapixels.")
            probe.verify()  # structural check; the image must be reopened after verify()
            image = Image.open(io.BytesIO(raw))
            image.load()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise PhotoRejected("The file is not a readable JPEG or PNG image.") from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected("The image file is damaged or truncated.") from None
    # Apply the camera's rotation, then re-encode the pixels only: no EXIF, no GPS, no comments.
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    # A fresh image from raw pixel bytes has no info dictionary to carry metadata over.
    pixels = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if image_format == "JPEG":
        pixels.save(out, format="JPEG", quality=90, optimize=True)
    else:
        pixels.save(out, format="PNG", optimize=True)
    return CleanPhoto(data=out.getvalue(), format=image_format, width=pixels.width,
                      height=pixels.height)
