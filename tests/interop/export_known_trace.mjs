// Exports one known three-span trace with the OpenTelemetry JavaScript SDK, once per protocol, so
// tests/interop/js_sdk_interop_test.cc can check what tracerig's embedded backend made of it.
// The SDK's own pipeline is used (TracerProvider -> SimpleSpanProcessor -> exporter) with a fixed
// IdGenerator, so the test knows every id. The trace (same for each protocol but its trace id):
//   js-frontend  SERVER "GET /checkout"  status OK, every attribute type, event with attributes
//   js-frontend  CLIENT "POST /charge"   child of the server span, status UNSET
//   js-backend   SERVER "POST /charge"   child of the client span (a separate provider and
//                                        resource, as in another process), status ERROR + message
// Usage: node export_known_trace.mjs [--otlp-proto URL] [--otlp-json URL] [--otlp-grpc URL]
//                                    [--zipkin URL]
// Exit 0 when every exporter reported success, 1 otherwise (the failed results on stderr), 2 on
// bad usage.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

// Must match kTraceIdPrefix / kProtocols in js_sdk_interop_test.cc: the last two hex digits of the
// trace id say which protocol carried it, so the four traces never mix in the backend.
const TRACE_ID_PREFIX = '4a53494e5445524f502d747261636500';  // "JSINTEROP-trace" + 00
const PROTOCOLS = {
  'otlp-proto': { suffix: '01', make: (url) => new OtlpProtoExporter({ url }) },
  'otlp-json': { suffix: '02', make: (url) => new OtlpJsonExporter({ url }) },
  'otlp-grpc': { suffix: '03', make: (url) => new OtlpGrpcExporter({ url }) },
  'zipkin': { suffix: '04', make: (url) => new ZipkinExporter({ url }) },
};
const SPAN_IDS = ['00f067aa0ba902b1', '00f067aa0ba902b2', '00f067aa0ba902b3'];

// Hands out the ids above in span creation order; the trace id is set per protocol.
class KnownIdGenerator {
  constructor(traceId) {
    this.traceId = traceId;
    this.next = 0;
  }
  generateTraceId() {
    return this.traceId;
  }
  generateSpanId() {
    if (this.next >= SPAN_IDS.length) throw new Error('more spans than known span ids');
    return SPAN_IDS[this.next++];
  }
}

// Wraps an exporter to keep every result: SimpleSpanProcessor only logs failures, and the test
// must know that the SDK believed its export succeeded.
class RecordingExporter {
  constructor(protocol, inner, results) {
    this.protocol = protocol;
    this.inner = inner;
    this.results = results;
  }
  export(spans, done) {
    this.inner.export(spans, (result) => {
      this.results.push({ protocol: this.protocol, spans: spans.length, result });
      done(result);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

// Fixed times relative to one base (ms since the epoch), so every protocol's trace has the same
// shape; whole milliseconds survive Zipkin's microseconds exactly.
function exportTrace(protocol, url, results, baseMs) {
  const ids = new KnownIdGenerator(TRACE_ID_PREFIX.slice(0, 30) + PROTOCOLS[protocol].suffix);
  const provider = (service, extra) =>
    new BasicTracerProvider({
      idGenerator: ids,
      resource: resourceFromAttributes({ 'service.name': service, ...extra }),
      spanProcessors: [
        new SimpleSpanProcessor(
            new RecordingExporter(protocol, PROTOCOLS[protocol].make(url), results)),
      ],
    });
  const frontend = provider('js-frontend', { 'deployment.environment': 'interop' });
  const backend = provider('js-backend', { 'service.version': '1.2.3' });

  const server = frontend.getTracer('interop-frontend').startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    startTime: baseMs,
    attributes: {
      'interop.string': 'caf\u00e9 "quoted" \\ back',
      'interop.bool': true,
      'interop.int': 1234567890123,
      'interop.negative_int': -7,
      'interop.double': 3.25,
      'interop.string_array': ['a', 'b c'],
      'interop.bool_array': [true, false],
      'interop.int_array': [1, 2, 3],
      'interop.double_array': [1.5, -2.25],
    },
  });
  server.addEvent('cache.miss', { 'cache.key': 'cart:42', 'cache.hit': false, 'cache.size': 3 },
                  baseMs + 1);
  server.setStatus({ code: SpanStatusCode.OK });

  const client = frontend.getTracer('interop-frontend').startSpan(
      'POST /charge',
      {
        kind: SpanKind.CLIENT,
        startTime: baseMs + 2,
        attributes: { 'peer.service': 'js-backend' },
      },
      trace.setSpan(ROOT_CONTEXT, server));

  // The backend sees only the propagated context, as it would in another process.
  const remote = trace.setSpanContext(ROOT_CONTEXT, { ...client.spanContext(), isRemote: true });
  const charge = backend.getTracer('interop-backend').startSpan(
      'POST /charge',
      { kind: SpanKind.SERVER, startTime: baseMs + 3, attributes: { 'charge.amount': 19.99 } },
      remote);
  charge.addEvent('exception', { 'exception.type': 'CardError', 'exception.message': 'declined' },
                  baseMs + 4);
  charge.addEvent('retry.skipped', undefined, baseMs + 5);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  charge.end(baseMs + 6);
  client.end(baseMs + 7);
  server.end(baseMs + 8);
  return Promise.all([frontend.shutdown(), backend.shutdown()]);
}

function parseArgs(argv) {
  const targets = [];
  for (let i = 0; i < argv.length; i += 2) {
    const protocol = argv[i].replace(/^--/, '');
    if (!(protocol in PROTOCOLS) || i + 1 >= argv.length) {
      throw new Error(`unexpected argument "${argv[i]}" (want --otlp-proto|--otlp-json|` +
                      `--otlp-grpc|--zipkin URL)`);
    }
    targets.push([protocol, argv[i + 1]]);
  }
  return targets;
}

let targets;
try {
  targets = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`export_known_trace: ${e.message}`);
  process.exit(2);
}
const results = [];
const baseMs = Date.now() - 1000;
for (const [protocol, url] of targets) {
  await exportTrace(protocol, url, results, baseMs);
}
let failed = 0;
for (const r of results) {
  const ok = r.result.code === ExportResultCode.SUCCESS;
  if (!ok) failed++;
  const why = ok ? '' : ` ${r.result.error ? r.result.error.message : 'failed'}`;
  console.log(`${r.protocol}: ${r.spans} span(s) ${ok ? 'exported' : 'FAILED'}${why}`);
}
const expected = targets.length * 3;
const exported = results.filter((r) => r.result.code === ExportResultCode.SUCCESS)
                     .reduce((n, r) => n + r.spans, 0);
if (failed > 0 || exported !== expected) {
  console.error(`export_known_trace: ${exported} of ${expected} spans exported`);
  process.exit(1);
}
