// "Use my location" on /points/nearest: ask the browser for a position and reload the page with it.
// The position goes only into this page's address; the server computes distances and keeps nothing.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("locate");
    var status = document.getElementById("locate-status");
    if (!button) return;
    if (!("geolocation" in navigator)) {
      button.disabled = true;
      status.textContent = "您的浏览器不支持定位，请按区域查找。";
      return;
    }
    button.addEventListener("click", function () {
      status.textContent = "正在获取位置……";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var lat = position.coords.latitude.toFixed(5);
          var lng = position.coords.longitude.toFixed(5);
          window.location.assign("/points/nearest?lat=" + lat + "&lng=" + lng);
        },
        function () {
          status.textContent = "无法获取您的位置（可能未允许定位），请按区域查找。";
        },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 }
      );
    });
  });
})();
