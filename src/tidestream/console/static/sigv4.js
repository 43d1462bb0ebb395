// AWS Signature Version 4 for the console's own calls (under --auth enforce), with WebCrypto.
// The secret never leaves the browser: only signatures are sent (docs/security.md).
"use strict";
const SigV4 = (() => {
  const encoder = new TextEncoder();
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  async function hmac(key, text) {
    const raw = typeof key === "string" ? encoder.encode(key) : key;
    const cryptoKey = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(text));
  }
  // Headers to add to a request: X-Amz-Date and Authorization. `headers` must hold every
  // header the server should see signed (Content-Type, X-Amz-Target); the browser adds Host.
  async function sign({ method, path, query = "", headers, body, service, region, accessKey, secretKey }) {
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    const all = { host: location.host, "x-amz-date": amzDate };
    for (const [name, value] of Object.entries(headers)) all[name.toLowerCase()] = String(value).trim();
    const names = Object.keys(all).sort();
    const canonicalHeaders = names.map((n) => `${n}:${all[n]}\n`).join("");
    const signedHeaders = names.join(";");
    const canonical = [method, path, query, canonicalHeaders, signedHeaders, await sha256(body || "")].join("\n");
    const scope = `${day}/${region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256(canonical)].join("\n");
    let key = await hmac("AWS4" + secretKey, day);
    for (const part of [region, service, "aws4_request"]) key = await hmac(key, part);
    const signature = hex(await hmac(key, toSign));
    return {
      "X-Amz-Date": amzDate,
      Authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  }
  const available = () => typeof crypto !== "undefined" && !!crypto.subtle;
  return { sign, available };
})();
