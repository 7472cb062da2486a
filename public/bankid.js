// The BankID waiting page: a fresh QR code every second and the order's status every two seconds,
// both from our server (the QR secret never reaches the browser). Without JavaScript the page still
// works: "Update the status" reloads it, and the order lives on the server.
(function () {
  'use strict';
  var status = document.getElementById('bankid-status');
  var qr = document.getElementById('bankid-qr');
  var qrData = document.getElementById('bankid-qr-data');
  if (!status) return;
  var statusUrl = status.getAttribute('data-status-url');
  var qrUrl = qr ? qr.getAttribute('data-qr-url') : null;
  var stopped = false;

  function json(url) {
    return fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      return r.json();
    });
  }

  function refreshQr() {
    if (stopped || !qrUrl) return;
    json(qrUrl)
      .then(function (body) {
        if (body.svg && qr) qr.innerHTML = body.svg;
        if (body.data && qrData) qrData.textContent = body.data;
      })
      .catch(function () {})
      .then(function () {
        setTimeout(refreshQr, 1000);
      });
  }

  function poll() {
    if (stopped) return;
    json(statusUrl)
      .then(function (body) {
        if (body.status === 'pending') {
          status.textContent = body.message;
          setTimeout(poll, 2000);
        } else {
          stopped = true;
          window.location.assign(body.redirect);
        }
      })
      .catch(function () {
        setTimeout(poll, 2000);
      });
  }

  setTimeout(refreshQr, 1000);
  setTimeout(poll, 2000);
})();
