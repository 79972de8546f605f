// Settings read by the web app at run time, so one build deploys anywhere. Served by vidzo
// itself, leave apiUrl empty (same origin). On a CDN (Vercel, S3, ...), set apiUrl to the
// VidZo server's origin, e.g. "https://api.example.com", and add the CDN's origin to that
// server's --cors-origins.
window.VIDZO_CONFIG = { apiUrl: "" };
