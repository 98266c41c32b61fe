// Presentation mode: fetch the slides' content from data-source, show one slide at a time (data-rotate
// seconds each), refetch every data-refresh seconds. A link that stops working (404) ends the refreshes.
(function () {
  var body = document.body, source = body.dataset.source;
  var rotateMs = Number(body.dataset.rotate) * 1000, refreshMs = Number(body.dataset.refresh) * 1000;
  var slides = Array.prototype.slice.call(document.querySelectorAll(".present-slide"));
  var message = document.getElementById("present-message"), current = 0, loaded = false, timers = [];
  var config = {displayModeBar: false, responsive: true, staticPlot: true, locale: body.dataset.locale};

  function show(index) {
    current = index % slides.length;
    slides.forEach(function (slide, i) { slide.hidden = i !== current; });
    document.querySelectorAll(".present-dot").forEach(function (dot, i) { dot.classList.toggle("active", i === current); });
    var chart = slides[current].querySelector(".present-chart");
    if (chart && chart.data) { Plotly.Plots.resize(chart); }
  }

  function card(item) {
    var box = document.createElement("div"); box.className = "present-card"; box.id = "present-card-" + item.id;
    [["title", item.title], ["value", item.value], ["note", item.note]].forEach(function (part) {
      var line = document.createElement("div"); line.className = "present-card-" + part[0]; line.textContent = part[1];
      box.appendChild(line);
    });
    return box;
  }

  function render(data) {
    document.getElementById("present-account").textContent = data.account.name;
    document.getElementById("present-updated").textContent = data.updated;
    document.getElementById("present-cards").replaceChildren.apply(document.getElementById("present-cards"), data.cards.map(card));
    data.slides.forEach(function (slide) {
      var section = document.getElementById("present-slide-" + slide.id);
      if (!section) { return; }
      var title = section.querySelector(".present-slide-title");
      if (title) { title.textContent = slide.title; }
      if (slide.figure) {
        Plotly.react("present-chart-" + slide.id, slide.figure.data, slide.figure.layout, config);
      }
    });
    if (!loaded) {
      loaded = true; message.hidden = true;
      var dots = document.getElementById("present-dots");
      slides.forEach(function () { var dot = document.createElement("span"); dot.className = "present-dot"; dots.appendChild(dot); });
      show(0);
      timers.push(setInterval(function () { show(current + 1); }, rotateMs));
    }
  }

  function stop(text) {
    timers.forEach(clearInterval); timers = [];
    slides.forEach(function (slide) { slide.hidden = true; });
    message.textContent = text; message.hidden = false;
  }

  function load() {
    fetch(source, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (response.status === 404 || response.status === 401) { stop(body.dataset.tGone); return null; }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) { if (data) { render(data); } }).catch(function () {
      if (!loaded) { message.textContent = body.dataset.tError; }  // keep the last good slides; retry next tick
    });
  }

  load();
  timers.push(setInterval(load, refreshMs));
})();
