"""Chapter 2 of "Lightweight Django": a placeholder-image service, added to a copy of
hello.py as its users grow it (tests/test_grow_it.py inserts this before `application`).
Images are drawn by Pillow, kept in Django's cache and validated by their ETag."""

import hashlib
from io import BytesIO

from django import forms
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import etag
from PIL import Image, ImageDraw


class ImageForm(forms.Form):
    """A width and height for a placeholder image."""

    height = forms.IntegerField(min_value=1, max_value=2000)
    width = forms.IntegerField(min_value=1, max_value=2000)

    def generate(self, image_format="PNG"):
        """The image as bytes, drawn once and then taken from the cache."""
        height, width = self.cleaned_data["height"], self.cleaned_data["width"]
        key = f"{width}.{height}.{image_format}"
        content = cache.get(key)
        if content is None:
            image = Image.new("RGB", (width, height))
            draw = ImageDraw.Draw(image)
            text = f"{width} X {height}"
            left, top, right, bottom = draw.textbbox((0, 0), text)
            if right - left < width and bottom - top < height:
                position = ((width - right) // 2, (height - bottom) // 2)
                draw.text(position, text, fill=(255, 255, 255))
            buffer = BytesIO()
            image.save(buffer, image_format)
            content = buffer.getvalue()
            cache.set(key, content, 60 * 60)
        return content


def generate_etag(request, width, height):
    return hashlib.sha1(f"Placeholder: {width} x {height}".encode()).hexdigest()


@etag(generate_etag)
def placeholder(request, width, height):
    form = ImageForm({"height": height, "width": width})
    if form.is_valid():
        return HttpResponse(form.generate(), content_type="image/png")
    return HttpResponseBadRequest("Invalid Image Request")


def index(request):
    example = reverse("placeholder", kwargs={"width": 50, "height": 50})
    context = {"example": request.build_absolute_uri(example)}
    return render(request, "home.html", context)


urlpatterns = [
    path("image/<int:width>x<int:height>/", placeholder, name="placeholder"),
    path("", index, name="homepage"),
]
