// A small real HTTP service for tracerig's own-service tests (tests/own_service), instrumented with
// the OpenTelemetry JavaScript SDK the way an application is: NodeTracerProvider with its default
// propagators (W3C tracecontext + baggage), the http instrumentation (a SERVER span per request, a
// CLIENT span per outgoing call, context extracted and injected), a batch span processor and the
// OTLP/HTTP protobuf exporter, configured from the standard environment variables.
//
// Environment:
//   PORT                          port to listen on (127.0.0.1), required
//   DOWNSTREAM_URL                called (GET) once per incoming request; the answer is 200 when
//                                 it answered 2xx, else 502. Unset: answers 200 at once (a leaf)
//   OTEL_EXPORTER_OTLP_ENDPOINT   where spans go (the exporter appends /v1/traces)
//   OTEL_SERVICE_NAME             the resource's service.name
//   OTEL_BSP_SCHEDULE_DELAY       how often spans are exported (ms)
//   OWN_SERVICE_PROPAGATION       "default" (the SDK's propagators) or "none": no propagator, so
//                                 the service neither reads incoming context nor sends any (it
//                                 starts a new trace per request), a broken service to catch
// Spans still held are flushed on SIGTERM / SIGINT before the process exits.
'use strict';

const { DiagConsoleLogger, DiagLogLevel, diag } = require('@opentelemetry/api');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { defaultResource, detectResources, envDetector } = require('@opentelemetry/resources');
const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

// Export failures and other SDK warnings go to the log tracerig keeps.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`server.cjs: PORT must be a port number, got "${process.env.PORT ?? ''}"`);
  process.exit(2);
}
const propagation = process.env.OWN_SERVICE_PROPAGATION || 'default';
if (propagation !== 'default' && propagation !== 'none') {
  console.error(`server.cjs: OWN_SERVICE_PROPAGATION must be "default" or "none", got "${propagation}"`);
  process.exit(2);
}
const downstream = process.env.DOWNSTREAM_URL || '';

const provider = new NodeTracerProvider({
  // service.name from OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES), as the SDK documents.
  resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
// undefined: the SDK's default propagators; null: none registered (the API's no-op propagator).
provider.register({ propagator: propagation === 'none' ? null : undefined });
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

// Loaded after the instrumentation is registered, so it is the patched module.
const http = require('node:http');

function answer(res, status, text) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text + '\n');
}

const server = http.createServer((req, res) => {
  req.resume();
  if (!downstream) {
    answer(res, 200, 'ok');
    return;
  }
  const call = http.request(downstream, { method: 'GET', timeout: 5000 }, (down) => {
    down.resume();
    down.on('end', () => {
      const ok = down.statusCode >= 200 && down.statusCode < 300;
      if (!ok) console.error(`downstream ${downstream} answered ${down.statusCode}`);
      answer(res, ok ? 200 : 502, ok ? 'ok' : `downstream answered ${down.statusCode}`);
    });
  });
  call.on('timeout', () => call.destroy(new Error('timed out after 5s')));
  call.on('error', (err) => {
    console.error(`downstream ${downstream} failed: ${err.message}`);
    answer(res, 502, `downstream failed: ${err.message}`);
  });
  call.end();
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${port} (propagation ${propagation}` +
              `${downstream ? `, calling ${downstream}` : ''})`);
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeIdleConnections();
  try {
    await provider.shutdown();  // exports every span still held
    console.log(`${signal}: spans flushed, exiting`);
  } catch (err) {
    console.error(`${signal}: flushing spans failed: ${err.message}`);
    process.exitCode = 1;
  }
  process.exit();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
