// Drive a fixed set of calls through the Vercel AI SDK (v5) with its OpenTelemetry spans.
// env: FAKE_URL (the fake provider), OTLP_BASE (InferLedger's OTLP/HTTP base URL); NODE_PATH: the npm folder.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "noop.js"));
const { generateText, streamText, embed } = require("ai");
const { createOpenAI } = require("@ai-sdk/openai");
const { NodeTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-node");
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
const { resourceFromAttributes } = require("@opentelemetry/resources");

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "il-vercel_ai", team: "vercel_ai" }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${process.env.OTLP_BASE}/v1/traces` }))],
});
provider.register();
const tracer = provider.getTracer("ai");
const openai = createOpenAI({ baseURL: `${process.env.FAKE_URL}/v1`, apiKey: "sk-test" });
const telemetry = (functionId, metadata = {}) => ({ isEnabled: true, functionId, metadata, tracer });

await generateText({ model: openai.chat("gpt-4o-mini"), prompt: "hi", maxRetries: 0,
  experimental_telemetry: telemetry("summarize", { user_id: "u-42" }) });
const s = streamText({ model: openai.chat("gpt-4o-mini"), prompt: "hi", maxRetries: 0,
  experimental_telemetry: telemetry("chat-stream") });
for await (const _ of s.textStream) { /* drain */ }
await embed({ model: openai.textEmbeddingModel("text-embedding-3-small"), value: "a", maxRetries: 0,
  experimental_telemetry: telemetry("embed") });
try {
  await generateText({ model: openai.chat("gpt-rate-limited"), prompt: "hi", maxRetries: 0,
    experimental_telemetry: telemetry("summarize") });
} catch (e) { /* the 429 */ }
await provider.forceFlush();
await provider.shutdown();
