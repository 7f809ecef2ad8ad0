"""A Pyramid application: answers one request in-process and prints where it ran from."""

import sys


def main() -> None:
    from pyramid.config import Configurator
    from pyramid.response import Response
    from webob import Request

    with Configurator() as config:
        config.add_route("hello", "/")
        config.add_view(lambda request: Response("hello from declos"), route_name="hello")
        app = config.make_wsgi_app()
    print(Request.blank("/").get_response(app).text)
    print(sys.prefix)
