/* "Thông báo trên thiết bị này" (account page): subscribes this browser to the installation's notifications
   (Push API with the installation's VAPID key, gateway/push.py) and hands the subscription to the server. */
(function () {
  "use strict";
  var box = document.getElementById("thong-bao-day");
  if (!box) return;
  var state = box.querySelector(".push-state");
  var on = box.querySelector(".push-on"), off = box.querySelector(".push-off"), test = box.querySelector(".push-test");
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) {
    state.textContent = "Trình duyệt này không hỗ trợ thông báo đẩy (hoặc trang không mở qua HTTPS).";
    return;
  }
  function api(method, path, body) {
    return fetch(path, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": box.getAttribute("data-csrf")},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (p) {
        throw new Error(p.title || ("Lỗi " + r.status));
      });
      return r.status === 204 ? {} : r.json();
    });
  }
  function key(b64) {
    var raw = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function show(subscription) {
    on.hidden = !!subscription;
    off.hidden = test.hidden = !subscription;
    state.textContent = subscription ? "Thiết bị này đang nhận thông báo." : "Trình duyệt này chưa nhận thông báo.";
  }
  navigator.serviceWorker.ready.then(function (reg) {
    reg.pushManager.getSubscription().then(show);
    on.addEventListener("click", function () {
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") throw new Error("Trình duyệt chưa được phép hiện thông báo.");
        return api("GET", "/api/v1/push/key");
      }).then(function (k) {
        return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key(k.application_server_key)});
      }).then(function (subscription) {
        return api("POST", "/api/v1/push/subscriptions", subscription.toJSON()).then(function () { show(subscription); });
      }).catch(function (e) { state.textContent = "Chưa bật được thông báo: " + e.message; });
    });
    off.addEventListener("click", function () {
      reg.pushManager.getSubscription().then(function (subscription) {
        if (!subscription) return show(null);
        return api("DELETE", "/api/v1/push/subscriptions", {endpoint: subscription.endpoint})
          .then(function () { return subscription.unsubscribe(); }).then(function () { show(null); });
      }).catch(function (e) { state.textContent = e.message; });
    });
    test.addEventListener("click", function () {
      api("POST", "/api/v1/push/test").then(function (r) {
        state.textContent = r.sent ? "Đã gửi thông báo thử." : "Chưa gửi được thông báo thử (" + r.failed + " lỗi).";
      }).catch(function (e) { state.textContent = e.message; });
    });
  });
})();
