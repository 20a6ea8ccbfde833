package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// OpenTelemetry tracing of "sessionkit serve" (docs/adr/018): configured by
// the standard OTEL_* environment variables only, and off unless they ask
// for it.
//
//   - OTEL_TRACES_EXPORTER: "otlp" (OTLP over HTTP/protobuf, or gRPC with
//     OTEL_EXPORTER_OTLP_PROTOCOL=grpc; OTEL_EXPORTER_OTLP_ENDPOINT and
//     the rest of the OTLP exporter's variables apply), "console" (one
//     JSON object per span on standard output) or "none". Unset or empty
//     means none: unlike the specification's default of otlp, a server
//     started without the variable exports nothing and does not even
//     build a TracerProvider.
//   - OTEL_SDK_DISABLED=true turns tracing off whatever the exporter.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the service is
//     "sessionkit" unless they say otherwise), OTEL_TRACES_SAMPLER and its
//     _ARG, OTEL_BSP_* (batching): as the SDK reads them.
//
// Trace context arrives in W3C traceparent headers, and is continued only
// from a trusted proxy (the server package decides).

// tracingShutdownTimeout bounds the flush of the last spans at exit.
const tracingShutdownTimeout = 5 * time.Second

// tracingWanted reports whether the environment asks for spans to be
// exported.
func tracingWanted(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")) {
	case "", "none":
		return false
	}
	return true
}

// startTracing builds the TracerProvider the environment asks for and
// installs it as OpenTelemetry's global one, with W3C trace-context
// propagation and errors (an exporter that cannot reach its collector)
// logged as warnings. It returns nil, and installs nothing, when tracing
// is not wanted. getenv decides whether it is; the exporter and the SDK
// read their settings from the process's environment, as they always do.
// The caller must stopTracing the provider it gets.
func startTracing(ctx context.Context, getenv func(string) string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	if !tracingWanted(getenv) {
		return nil, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%s: %v", errUsage, getenv("OTEL_TRACES_EXPORTER"), err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return nil, nil
	}
	attrs := []resource.Option{resource.WithAttributes(semconv.ServiceName("sessionkit"))}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(bi.Main.Version)))
	}
	// The environment's service name and attributes come after, and win.
	res, err := resource.New(ctx, append(attrs, resource.WithTelemetrySDK(), resource.WithFromEnv())...)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("%w: OTEL_RESOURCE_ATTRIBUTES: %v", errUsage, err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "err", err)
	}))
	log.Debug("tracing", "exporter", getenv("OTEL_TRACES_EXPORTER"))
	return tp, nil
}

// stopTracing exports the spans tp still holds and stops it, within
// tracingShutdownTimeout. A nil tp is tracing that never started.
func stopTracing(tp *sdktrace.TracerProvider, log *slog.Logger) {
	if tp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn("tracing: exporting the last spans", "err", err)
	}
}

// providerOf is tp as the interface the server and the store clients take:
// nil (no tracing) when tp is nil.
func providerOf(tp *sdktrace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return nil
	}
	return tp
}

// childSpansOnly is a TracerProvider whose tracers start a span only as
// the child of a recording span (a traced request's), and otherwise
// return the context as it is with a span that does nothing. It is given
// to the store clients' instrumentation: redisotel would otherwise make a
// trace of its own of every command outside a request (the keys read at
// start), while the store calls themselves (server.instrumentedBackend)
// and otelpgx make spans under a request only.
type childSpansOnly struct{ trace.TracerProvider }

func (p childSpansOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{p.TracerProvider.Tracer(name, opts...)}
}

type childTracer struct{ trace.Tracer }

func (t childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if parent := trace.SpanFromContext(ctx); !parent.IsRecording() {
		return ctx, parent
	}
	return t.Tracer.Start(ctx, name, opts...)
}
