import { RequestHandler } from 'express';
import helmet, { HelmetOptions } from 'helmet';

/** The dashboard's pages and files (/ui); Express matches the mount path case-insensitively. */
const UI_PATH = /^\/ui(\/|$)/i;

/**
 * helmet's response headers, with a Content-Security-Policy under which nothing loads but files of
 * this service and this origin is the only one called. Two variants of it:
 *
 * - everywhere but /ui, the Swagger UI page at /docs still works under it when served by this
 *   service: its scripts and stylesheet are files from 'self' (no CDN), it needs inline <style>
 *   blocks and data: images (icons in its CSS), and "Try it out" calls this same origin;
 * - the dashboard (/ui) gets no 'unsafe-inline' styles: its build has stylesheet files only, and
 *   its charts (uPlot) set styles through the CSSOM (element.style), which CSP does not restrict.
 */
export function securityHeaders(): RequestHandler {
  const api = helmet(options(["'self'", "'unsafe-inline'"]));
  const ui = helmet(options(["'self'"]));
  return (req, res, next) => (UI_PATH.test(req.path) ? ui : api)(req, res, next);
}

function options(styleSrc: string[]): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc,
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
        // No upgrade-insecure-requests: the service is often reached over plain HTTP inside the
        // network, where upgrading the page's own requests would break /docs and /ui.
      },
    },
    // HSTS belongs to whatever terminates TLS in front of the service; sent from here it would
    // pin a shared internal host name (and, by default, its subdomains) to HTTPS for a year.
    strictTransportSecurity: false,
  };
}
