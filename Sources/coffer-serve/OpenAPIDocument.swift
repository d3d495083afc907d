/// docs/openapi.yaml, served at `/v1/openapi.yaml`. Generated from that
/// file by scripts/openapi-swift; ServeTests checks the two agree.
enum OpenAPIDocument {
    static let text = #"""
openapi: 3.1.0
info:
  title: coffer serve
  version: "1"
  summary: A vault's secrets over HTTP, masked by default, to this host's scoped tokens.
  description: |
    `coffer serve` serves one coffer vault on loopback (or a Unix socket).
    Every request but the reveal links and this document carries a bearer
    token made by `coffer token create`. An id outside the token's prefixes
    is answered 404, exactly as an absent one; a right the token lacks 403;
    no token, an unknown, revoked or expired one 401; over the token's rate
    limit 429 with Retry-After. Ids keep their slashes in paths
    (`/v1/secrets/dev/db/password`); nothing follows an id. Errors are
    `application/problem+json`. The server speaks plain HTTP: put a TLS
    proxy in front of it for anything beyond this host.
servers:
  - url: /
security:
  - bearer: []
paths:
  /v1/openapi.yaml:
    get:
      operationId: openapi
      summary: This document.
      security: []
      responses:
        "200":
          description: The OpenAPI document.
          content:
            application/yaml:
              schema:
                type: object
  /v1/secrets:
    get:
      operationId: listSecrets
      summary: The ids under a prefix that the token reaches (never values).
      parameters:
        - name: prefix
          in: query
          required: false
          description: An id prefix (`dev` or `dev/`), by whole segments; all ids when absent or `/`.
          schema:
            type: string
            maxLength: 255
            pattern: "^(?!.*\\.age/)([A-Za-z0-9_-][A-Za-z0-9._-]{0,250}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,250})*)?/*$"
      responses:
        "200":
          description: The ids, sorted.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/IdList"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
  /v1/secrets/{id}:
    parameters:
      - $ref: "#/components/parameters/Id"
    get:
      operationId: getSecret
      summary: A secret's metadata and masked value; its value with reveal=true and the reveal right.
      parameters:
        - name: reveal
          in: query
          required: false
          schema:
            type: string
            enum: ["true", "false"]
      responses:
        "200":
          description: Masked (`********`, the length in bytes, the version), or revealed.
          content:
            application/json:
              schema:
                oneOf:
                  - $ref: "#/components/schemas/Masked"
                  - $ref: "#/components/schemas/Revealed"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "422": { $ref: "#/components/responses/Unprocessable" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "503": { $ref: "#/components/responses/Unavailable" }
    put:
      operationId: setSecret
      summary: Set a secret's value (one commit). A retry with the same Idempotency-Key and body returns the first answer.
      parameters:
        - $ref: "#/components/parameters/IdempotencyKey"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [value]
              additionalProperties: false
              properties:
                value:
                  type: string
                  description: At most 65536 bytes of UTF-8 (413 beyond; larger values are set with `coffer set --file`).
      responses:
        "200":
          description: Set (or unchanged, when the value was the same).
          headers:
            Idempotent-Replayed:
              description: "`true` when this is the first answer again."
              schema:
                type: string
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/SetResult"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "408": { $ref: "#/components/responses/Timeout" }
        "409": { $ref: "#/components/responses/Conflict" }
        "413": { $ref: "#/components/responses/TooLarge" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "503": { $ref: "#/components/responses/Unavailable" }
    delete:
      operationId: deleteSecret
      summary: Remove a secret (one commit); Idempotency-Key honoured.
      parameters:
        - $ref: "#/components/parameters/IdempotencyKey"
      responses:
        "200":
          description: Removed.
          headers:
            Idempotent-Replayed:
              description: "`true` when this is the first answer again."
              schema:
                type: string
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/DeleteResult"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409": { $ref: "#/components/responses/Conflict" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/history/{id}:
    parameters:
      - $ref: "#/components/parameters/Id"
    get:
      operationId: secretHistory
      summary: A secret's versions, newest first, as `coffer history -o json` prints them.
      responses:
        "200":
          description: The versions.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/History"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409": { $ref: "#/components/responses/Conflict" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/reveal-links/{id}:
    parameters:
      - $ref: "#/components/parameters/Id"
    post:
      operationId: createRevealLink
      summary: A one-time URL revealing the value, valid for a short time (tokens made with --reveal-links).
      responses:
        "201":
          description: The link; it is shown only here.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/RevealLink"
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/reveal/{link}:
    parameters:
      - name: link
        in: path
        required: true
        schema:
          type: string
          maxLength: 100
    get:
      operationId: revealByLink
      summary: The value, once; afterwards (or once expired) 410.
      security: []
      responses:
        "200":
          description: The value.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Revealed"
        "400": { $ref: "#/components/responses/BadRequest" }
        "404": { $ref: "#/components/responses/NotFound" }
        "410": { $ref: "#/components/responses/Gone" }
        "422": { $ref: "#/components/responses/Unprocessable" }
        "503": { $ref: "#/components/responses/Unavailable" }
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      description: A token from `coffer token create` (`cft_` and 64 hex digits).
  parameters:
    Id:
      name: id
      in: path
      required: true
      description: A secret id; its slashes may be sent as they are or as %2F.
      schema:
        type: string
        minLength: 1
        maxLength: 255
        pattern: "^(?!.*\\.age/)[A-Za-z0-9_-][A-Za-z0-9._-]{0,250}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,250})*$"
    IdempotencyKey:
      name: Idempotency-Key
      in: header
      required: false
      description: Any 1 to 255 visible ASCII characters, remembered for 24 hours with a keyed hash of the request.
      schema:
        type: string
        minLength: 1
        maxLength: 255
        pattern: "^[!-~]+$"
  schemas:
    IdList:
      type: object
      required: [prefix, ids]
      properties:
        prefix: { type: string }
        ids:
          type: array
          items: { type: string }
    Masked:
      type: object
      required: [id, value, bytes, version]
      additionalProperties: false
      properties:
        id: { type: string }
        value: { type: string, const: "********" }
        bytes: { type: integer, minimum: 0 }
        version: { type: integer, minimum: 0 }
    Revealed:
      type: object
      required: [id, value]
      additionalProperties: false
      properties:
        id: { type: string }
        value: { type: string }
    SetResult:
      type: object
      required: [id, commit, changed, version]
      additionalProperties: false
      properties:
        id: { type: string }
        commit: { type: [string, "null"] }
        changed: { type: boolean }
        version: { type: integer, minimum: 0 }
    DeleteResult:
      type: object
      required: [id, commit, changed]
      additionalProperties: false
      properties:
        id: { type: string }
        commit: { type: [string, "null"] }
        changed: { type: boolean }
    History:
      type: object
      required: [id, versions]
      properties:
        id: { type: string }
        versions:
          type: array
          items:
            type: object
            required: [version, id, commit, date, author, signature, action, change]
            properties:
              version: { type: integer, minimum: 1 }
              id: { type: string }
              commit: { type: string }
              date: { type: string }
              author: { type: string }
              signature:
                type: object
                required: [mark]
                properties:
                  mark: { type: string }
                  signer: { type: string }
                  fingerprint: { type: string }
              action: { type: string }
              claimed_action: { type: string }
              change:
                type: string
                enum: [created, value, restored, rekey, wrapping, deleted]
    RevealLink:
      type: object
      required: [id, url, expires_in]
      additionalProperties: false
      properties:
        id: { type: string }
        url:
          type: string
          description: A path (`/v1/reveal/cfl_…`), relative to the server's address.
        expires_in: { type: integer, minimum: 1 }
    Problem:
      type: object
      required: [type, title, status, detail]
      properties:
        type: { type: string }
        title: { type: string }
        status: { type: integer }
        detail: { type: string }
  responses:
    BadRequest:
      description: The request is not one this API takes.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Unauthorized:
      description: No token, or one that is unknown, revoked or expired.
      headers:
        WWW-Authenticate:
          schema: { type: string }
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Forbidden:
      description: The token lacks the right (reveal, reveal links, write), or the server is read-only.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    NotFound:
      description: No such secret, or one outside the token's prefixes (the same answer).
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Conflict:
      description: The Idempotency-Key was used with another request or is still in use, or the vault refused the change.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Timeout:
      description: The body did not arrive within 10 seconds.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    TooLarge:
      description: The body or the value is too large.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Gone:
      description: The reveal link was used or has expired.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Unprocessable:
      description: The value is not UTF-8 text, which JSON cannot carry.
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    TooManyRequests:
      description: Over the token's rate limit.
      headers:
        Retry-After:
          schema: { type: string }
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }
    Unavailable:
      description: The vault is busy (another writer holds its lock), or too many reveal links are outstanding; retry.
      headers:
        Retry-After:
          schema: { type: string }
      content:
        application/problem+json:
          schema: { $ref: "#/components/schemas/Problem" }

"""#
}
