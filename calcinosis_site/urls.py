from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.generic import RedirectView


class FaviconView(RedirectView):
    # Browsers ask for /favicon.ico whatever the page links to; the icon is static/favicon.svg.
    # Resolved per request (the hashed name is known only once the static manifest is loaded)
    # and not permanent, so a browser does not keep a hashed name that a release replaces.
    permanent = False

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("favicon.svg")


urlpatterns = [
    path("admin/", admin.site.urls),
    # Open to everyone: the login page asks for it too.
    path("favicon.ico", require_safe(login_not_required(FaviconView.as_view())), name="favicon"),
    path("", include("assessment.urls")),
]
