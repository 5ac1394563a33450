// A candlestick chart on an SVG element, fed with the broker's candles (docs/broker-api.md,
// "Chart candles"). Its interface is the series interface of lightweight-charts — setData(candles)
// replaces everything, update(candle) replaces the candle with the same time or appends a newer
// one — so that library can take this file's place once it is a dependency of the project.
// Drawing is batched to one per animation frame, so hundreds of updates per second cost one paint.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

class CandleChart {
  constructor(svg, { maxBars = 80, priceText = (p) => String(p) } = {}) {
    this.svg = svg;
    this.maxBars = maxBars;
    this.priceText = priceText;
    this.candles = [];
    this.frame = 0;
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.schedule()).observe(svg);
  }

  setData(candles) {
    this.candles = candles.slice(-this.maxBars * 4);
    this.schedule();
  }

  update(candle) {
    const last = this.candles[this.candles.length - 1];
    if (last === undefined || candle.time > last.time) {
      this.candles.push(candle);
      if (this.candles.length > this.maxBars * 4) this.candles.splice(0, this.candles.length - this.maxBars * 4);
    } else {
      // Same time: the candle moved. Older: replace it if we hold it (a late close), else ignore.
      for (let i = this.candles.length - 1; i >= 0 && this.candles[i].time >= candle.time; i--) {
        if (this.candles[i].time === candle.time) this.candles[i] = candle;
      }
    }
    this.schedule();
  }

  clear() {
    this.candles = [];
    this.schedule();
  }

  schedule() {
    if (this.frame !== 0) return;
    const draw = () => {
      this.frame = 0;
      this.render();
    };
    this.frame = typeof requestAnimationFrame === 'function' ? requestAnimationFrame(draw) : setTimeout(draw, 16);
  }

  node(tag, attrs, text) {
    const n = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  render() {
    const svg = this.svg;
    const width = Math.max(120, svg.clientWidth || 600);
    const height = Math.max(80, svg.clientHeight || 200);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const shown = this.candles.slice(-this.maxBars);
    svg.dataset.count = String(shown.length);
    svg.dataset.lastClose = shown.length > 0 ? String(shown[shown.length - 1].close) : '';
    const parts = [];
    if (shown.length === 0) {
      parts.push(this.node('text', { x: width / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'no trades yet'));
      svg.replaceChildren(...parts);
      return;
    }
    const axis = 64;
    const timeAxis = 16;
    const plotWidth = width - axis;
    const priceHeight = (height - timeAxis) * 0.8;
    const volumeTop = priceHeight + 4;
    const volumeHeight = height - timeAxis - volumeTop;
    let hi = -Infinity;
    let lo = Infinity;
    let maxVolume = 1;
    for (const c of shown) {
      if (c.high > hi) hi = c.high;
      if (c.low < lo) lo = c.low;
      if (c.volume > maxVolume) maxVolume = c.volume;
    }
    const pad = (hi - lo) * 0.08 || Math.max(1, hi * 0.002);
    hi += pad;
    lo -= pad;
    const y = (p) => 4 + ((hi - p) / (hi - lo)) * (priceHeight - 8);
    for (let g = 0; g <= 3; g++) {
      const price = lo + ((hi - lo) * g) / 3;
      const gy = y(price);
      parts.push(this.node('line', { x1: 0, x2: plotWidth, y1: gy, y2: gy, class: 'chart-grid' }));
      parts.push(this.node('text', { x: plotWidth + 4, y: gy + 4, class: 'chart-label' }, this.priceText(Math.round(price))));
    }
    const step = plotWidth / this.maxBars;
    const offset = plotWidth - shown.length * step;
    shown.forEach((c, i) => {
      const x = offset + i * step + step / 2;
      const up = c.close >= c.open;
      const cls = up ? 'candle up' : 'candle down';
      parts.push(this.node('line', { x1: x, x2: x, y1: y(c.high), y2: y(c.low), class: `${cls} wick` }));
      const top = Math.min(y(c.open), y(c.close));
      parts.push(this.node('rect', { x: x - step * 0.35, width: step * 0.7, y: top, height: Math.max(1, Math.abs(y(c.open) - y(c.close))), class: cls, 'data-time': c.time }));
      const vh = (c.volume / maxVolume) * volumeHeight;
      parts.push(this.node('rect', { x: x - step * 0.35, width: step * 0.7, y: volumeTop + volumeHeight - vh, height: vh, class: `volume ${up ? 'up' : 'down'}` }));
    });
    const last = shown[shown.length - 1];
    parts.push(this.node('line', { x1: 0, x2: plotWidth, y1: y(last.close), y2: y(last.close), class: 'chart-last' }));
    parts.push(this.node('text', { x: plotWidth + 4, y: y(last.close) + 4, class: 'chart-label chart-last-label' }, this.priceText(last.close)));
    const time = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    parts.push(this.node('text', { x: plotWidth, y: height - 3, class: 'chart-label', 'text-anchor': 'end' }, time(last.time)));
    const firstX = offset + step / 2;
    if (plotWidth - firstX > 120) parts.push(this.node('text', { x: firstX, y: height - 3, class: 'chart-label' }, time(shown[0].time)));
    svg.replaceChildren(...parts);
  }
}

window.CandleChart = CandleChart;
