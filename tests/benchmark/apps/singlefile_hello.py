"""django-singlefile's README example; production is DJANGO_DEBUG unset and DJANGO_SECRET_KEY set."""

from django.http import HttpResponse
from django.singlefile import SingleFileApp

app = SingleFileApp()


@app.path("")
def index(request):
    return HttpResponse("Hello World")
