// The BankID waiting page: every second the QR code of that second and the order's status, from our
// own server (the QR secret never reaches the browser; BankID itself is asked at most every 2 s, by the
// server). Only the parts that change are touched: the page is never reloaded, focus stays where it is,
// and the status (an aria-live region) is rewritten only when its text changes, so a screen reader
// announces each new message once. Without JavaScript "Update the status" reloads the page instead.
(function () {
  'use strict';
  var status = document.getElementById('bankid-status');
  if (!status || !window.fetch) return;
  var qr = document.getElementById('bankid-qr');
  var qrData = document.getElementById('bankid-qr-data');
  var statusUrl = status.getAttribute('data-status-url');
  var connectionLost = status.getAttribute('data-connection-lost');
  var failures = 0;

  function say(text) {
    if (text && status.textContent !== text) status.textContent = text;
  }

  function next() {
    setTimeout(poll, 1000);
  }

  function poll() {
    fetch(statusUrl, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) {
        if (!r.ok && r.status !== 410) throw new Error('status ' + r.status);
        return r.json();
      })
      .then(function (body) {
        failures = 0;
        if (body.status !== 'pending') {
          window.location.assign(body.redirect);
          return;
        }
        if (body.qr && qr && qr.getAttribute('src') !== body.qr.image) qr.setAttribute('src', body.qr.image);
        if (body.qr && body.qr.data && qrData) qrData.textContent = body.qr.data;
        say(body.message);
        next();
      })
      .catch(function () {
        failures += 1;
        if (failures === 3) say(connectionLost);
        next();
      });
  }

  next();
})();
