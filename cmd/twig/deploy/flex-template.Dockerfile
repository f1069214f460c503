# Dataflow flex template launcher for twig (see docs/dataflow.md). Not built
# in CI: no Docker on the development machines.
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o /out/twig ./cmd/twig

FROM gcr.io/dataflow-templates-base/go-template-launcher-base
COPY --from=build /out/twig /template/twig
ENV FLEX_TEMPLATE_GO_BINARY=/template/twig
# The launcher runs: twig <parameters as --flags>; the first argument must be the command.
ENTRYPOINT ["/opt/google/dataflow/go_template_launcher"]
