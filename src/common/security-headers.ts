import { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet's response headers, with a Content-Security-Policy that the Swagger UI page at /docs
 * still works under when served by this service: its scripts and stylesheet are files from
 * 'self' (no CDN), it needs inline <style> blocks and data: images (icons in its CSS), and
 * "Try it out" calls this same origin. Nothing else is allowed to load.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
        // No upgrade-insecure-requests: the service is often reached over plain HTTP inside the
        // network, where upgrading the page's own requests would break /docs.
      },
    },
    // HSTS belongs to whatever terminates TLS in front of the service; sent from here it would
    // pin a shared internal host name (and, by default, its subdomains) to HTTPS for a year.
    strictTransportSecurity: false,
  });
}
