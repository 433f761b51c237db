/* The service worker of the installable app (served as /sw.js by gateway/pwa.py).
   - The home lists and the documents last opened stay readable without a network: each such page read online is
     kept on the device (the last KEEP_DOCUMENTS documents), and shown offline under a banner that says it is a
     copy, from when, and that nothing can be sent.
   - Nothing is sent while offline without saying so: a form posted without a network gets a page that says it was
     NOT sent (layout.js already stops the post and says so on the page; this covers a page without script).
   - The kept pages are the signed-in person's: they are dropped when the sign-in page is reached (signing out, an
     expired session, another person) and on "Đăng xuất" (layout.js).
   - Notifications (Web Push) are shown, and the app's badge marked, when a message arrives. */
"use strict";
var SHELL = "congvan-shell-v1";
var PAGES = "congvan-pages";
var SHELL_FILES = ["/static/style.css", "/static/layout.js", "/static/app.js", "/static/picker.js",
  "/icons/icon-192.png", "/manifest.webmanifest"];
var LISTS = [/^\/$/, /^\/xu-ly$/, /^\/van-ban-den$/, /^\/van-ban-den\/cho-tiep-nhan$/, /^\/van-ban-di$/,
  /^\/van-ban-di\/cho-ban-hanh$/, /^\/du-thao$/, /^\/cong-viec$/, /^\/thong-bao$/, /^\/nhac-viec$/, /^\/tien-do$/];
var DOCUMENTS = [/^\/van-ban\/[^/]+$/, /^\/xu-ly\/[^/]+$/, /^\/du-thao\/[^/]+$/, /^\/cong-viec\/\d+$/,
  /^\/tep\/[^/]+\/[0-9a-f]{64}\/xem$/];
var KEEP_DOCUMENTS = 20;
var STAMP = "x-congvan-saved-at";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("congvan-shell-") === 0 && n !== SHELL; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function matches(list, path) { return list.some(function (re) { return re.test(path); }); }

function vnTime(ms) {
  return new Intl.DateTimeFormat("vi-VN", {timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit",
    day: "2-digit", month: "2-digit", year: "numeric"}).format(new Date(ms));
}

function page(title, body, status) {
  var html = '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><title>' + title + ' · Công Văn</title>'
    + '<link rel="stylesheet" href="/static/style.css"></head><body><header class="topbar">'
    + '<a class="brand" href="/">Công Văn</a></header><main id="noi-dung" tabindex="-1">' + body + '</main></body></html>';
  return new Response(html, {status: status, headers: {"Content-Type": "text/html; charset=utf-8"}});
}

async function keep(request, response) {
  var path = new URL(request.url).pathname;
  var cache = await caches.open(PAGES);
  var headers = new Headers(response.headers);
  headers.set(STAMP, String(Date.now()));
  var body = await response.clone().arrayBuffer();
  await cache.put(request.url, new Response(body, {status: 200, headers: headers}));
  if (matches(DOCUMENTS, path)) {
    var documents = (await cache.keys()).filter(function (r) { return matches(DOCUMENTS, new URL(r.url).pathname); });
    // Cache.keys() lists in insertion order, and put() of a kept URL moves it last: the oldest come first.
    for (var i = 0; i < documents.length - KEEP_DOCUMENTS; i++) await cache.delete(documents[i]);
  }
}

async function offlineCopy(request) {
  var cache = await caches.open(PAGES);
  var kept = await cache.match(request.url);
  if (!kept) {
    var links = (await cache.keys()).map(function (r) {
      var u = new URL(r.url);
      return '<li><a href="' + u.pathname + u.search + '">' + u.pathname + u.search + "</a></li>";
    }).join("");
    return page("Không có mạng", '<h1>Không có mạng</h1><p class="notice error" role="alert">Trang này chưa được lưu '
      + "trên máy nên không xem được khi không có mạng.</p>"
      + (links ? "<h2>Các trang đã lưu trên máy</h2><ul class=\"links\">" + links + "</ul>" : ""), 503);
  }
  var text = await kept.text();
  var saved = Number(kept.headers.get(STAMP) || Date.now());
  var banner = '<p class="notice error offline" role="alert">Không có mạng: đây là bản đã lưu trên máy lúc '
    + vnTime(saved) + ", có thể đã cũ. Không gửi được gì cho đến khi có mạng trở lại.</p>";
  text = text.replace(/(<main\b[^>]*>)/, "$1" + banner);
  return new Response(text, {status: 200, headers: {"Content-Type": "text/html; charset=utf-8"}});
}

function notSent() {
  return page("Chưa gửi", '<h1>Chưa gửi được</h1><p class="notice error" role="alert">Không có mạng: nội dung vừa '
    + "nhập <strong>chưa được gửi</strong> và chưa được lưu. Hãy quay lại trang trước và gửi lại khi có mạng.</p>"
    + '<p><a class="button" href="/">Về trang chủ</a></p>', 503);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.method !== "GET") {
    event.respondWith(fetch(request).catch(notSent));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      var path = new URL(response.url || request.url).pathname;
      if (path === "/dang-nhap") {
        caches.delete(PAGES);
      } else if (response.ok && !response.redirected && (matches(LISTS, url.pathname) || matches(DOCUMENTS, url.pathname))) {
        event.waitUntil(keep(request, response.clone()));
      }
      return response;
    }, function () { return offlineCopy(request); }));
    return;
  }
  if (/^\/tep\/[^/]+\/[0-9a-f]{64}\/trang\/\d+\.png$/.test(url.pathname)) {
    // The page images of a PDF read on the phone ("Xem từng trang"), kept with its page for reading offline.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        event.waitUntil(caches.open(PAGES).then(function (cache) { return cache.put(request.url, copy); }));
      }
      return response;
    }, function () {
      return caches.open(PAGES).then(function (cache) { return cache.match(request.url); })
        .then(function (hit) { return hit || Response.error(); });
    }));
    return;
  }
  if (matches([/^\/static\//, /^\/icons\//, /^\/manifest\.webmanifest$/], url.pathname)) {
    // The network first (a new version of a script shows at once), the copy when there is none.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.put(request, copy); }));
      }
      return response;
    }, function () {
      return caches.match(request).then(function (hit) { return hit || Response.error(); });
    }));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "forget-pages") event.waitUntil(caches.delete(PAGES));
});

self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {body: event.data && event.data.text()}; }
  var shown = self.registration.showNotification(message.title || "Công Văn", {
    body: message.body || "", lang: "vi", icon: "/icons/icon-192.png", badge: "/icons/icon-192.png",
    data: {url: message.url || "/"}, tag: message.url || "congvan"});
  var badge = self.navigator && self.navigator.setAppBadge
    ? (typeof message.waiting === "number" ? self.navigator.setAppBadge(message.waiting) : self.navigator.setAppBadge())
    : Promise.resolve();
  event.waitUntil(Promise.all([shown, badge.catch(function () {})]));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({type: "window"}).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(target);
  }));
});
