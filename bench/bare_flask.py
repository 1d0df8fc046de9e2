"""The raw baseline of the command benchmark: a bare Flask JSON endpoint, nothing else."""

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/v1/clients")
    def create() -> tuple[object, int]:
        body = request.get_json()
        return jsonify(client_id="00000000-0000-0000-0000-000000000000", **body), 201

    @app.get("/health/live")
    def live() -> object:
        return jsonify(status="ok")

    return app
