// The kiosk's service worker: keeps the tablet's page and its assets for offline use.
// Only the blank form is kept (the server marks it); answers never pass through here.
"use strict";
var CACHE = "kiosk-v1";
var PAGE = "/kiosk";
var ASSETS = [
  "/static/public.css",
  "/static/kiosk.css",
  "/static/kiosk.js",
  "/static/survey.js",
  "/static/kiosk-icon.svg",
  "/kiosk/manifest.webmanifest"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return Promise.all(ASSETS.concat([PAGE]).map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          return keep(cache, url, response);
        }).catch(function () { /* taken on the next visit */ });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) {
        return caches.delete(n);
      }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPage(response) {
  return response.ok && response.headers.get("X-Kiosk-Page") === "form";
}

function keep(cache, key, response) {
  if (key.indexOf(PAGE) === 0 && new URL(key, self.location).pathname === PAGE) {
    if (isPage(response)) return cache.put(key, response.clone());
    // Not paired, or no longer: no form is kept to show offline.
    if (response.status === 401 || response.status === 403 || response.ok) return cache.delete(key);
    return null;
  }
  if (response.ok) return cache.put(key, response.clone());
  return null;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    // The page: from the network when it answers (it may have been revoked), else kept.
    event.respondWith(
      fetch(request).then(function (response) {
        return caches.open(CACHE).then(function (cache) {
          return Promise.resolve(keep(cache, request.url, response)).then(function () {
            return isPage(response) ? Promise.resolve(keep(cache, PAGE, response)).then(function () {
              return response;
            }) : response;
          });
        });
      }).catch(function () {
        return caches.open(CACHE).then(function (cache) {
          return cache.match(request.url).then(function (hit) {
            return hit || cache.match(PAGE);
          });
        }).then(function (hit) {
          return hit || new Response("", { status: 503, statusText: "offline" });
        });
      })
    );
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    // Assets: the network's when it answers, the kept copy when it does not.
    event.respondWith(
      fetch(request).then(function (response) {
        return caches.open(CACHE).then(function (cache) {
          return Promise.resolve(keep(cache, url.pathname, response)).then(function () { return response; });
        });
      }).catch(function () {
        return caches.match(url.pathname).then(function (hit) {
          return hit || new Response("", { status: 503, statusText: "offline" });
        });
      })
    );
  }
});
