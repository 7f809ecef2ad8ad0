"""A Pyramid application: a WSGI app for pserve, and a command answering one request."""

import sys


def make_app(global_config=None, **settings):
    """The paste.app_factory `pserve` loads from a production ini."""
    from pyramid.config import Configurator
    from pyramid.response import Response

    with Configurator(settings=settings) as config:
        config.add_route("hello", "/")
        config.add_view(lambda request: Response("hello from declos"), route_name="hello")
        return config.make_wsgi_app()


def main() -> None:
    from webob import Request

    print(Request.blank("/").get_response(make_app()).text)
    print(sys.prefix)
