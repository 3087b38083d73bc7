/**
 * Value classes for what JavaScript has no exact type for: Python datetimes (naive or with
 * a fixed offset, to the microsecond), dates and decimals. They round-trip the wire text.
 */

const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{6}))?(?:([+-])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{6}))?)?)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|s?nan\d*)$/i;
const DAY_MICROS = 86_400_000_000;

function pad(value, width) {
  return String(value).padStart(width, "0");
}

function daysInMonth(year, month) {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function checkRange(name, value, low, high) {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new RangeError(`${name} must be an integer in ${low}..${high}, got ${value}`);
  }
}

function checkDate(year, month, day) {
  checkRange("year", year, 1, 9999);
  checkRange("month", month, 1, 12);
  checkRange("day", day, 1, daysInMonth(year, month));
}

/** A calendar date (Python `datetime.date`, wire tag `~date`). */
export class VortexDate {
  /** Build from numbers; month and day count from 1 as in Python. */
  constructor(year, month, day) {
    checkDate(year, month, day);
    this.year = year;
    this.month = month;
    this.day = day;
    Object.freeze(this);
  }

  /** Parse `YYYY-MM-DD`. */
  static parse(text) {
    const m = DATE_RE.exec(text);
    if (m === null) throw new RangeError(`${JSON.stringify(text)} is not a YYYY-MM-DD date`);
    return new VortexDate(Number(m[1]), Number(m[2]), Number(m[3]));
  }

  /** The ISO text, as Python's `date.isoformat()`. */
  toString() {
    return `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}`;
  }

  toJSON() {
    return this.toString();
  }

  /** True when other is a VortexDate of the same day. */
  equals(other) {
    return other instanceof VortexDate && other.toString() === this.toString();
  }
}

function formatOffset(offsetMicros) {
  const sign = offsetMicros < 0 ? "-" : "+";
  let rest = Math.abs(offsetMicros);
  const micros = rest % 1_000_000;
  rest = (rest - micros) / 1_000_000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  let text = `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`;
  if (seconds || micros) text += `:${pad(seconds, 2)}`;
  if (micros) text += `.${pad(micros, 6)}`;
  return text;
}

/**
 * A Python datetime: naive (`utcOffsetMicros === null`) or aware with a fixed UTC offset,
 * kept to the microsecond (wire tag `~dt`). JavaScript `Date` is accepted when encoding too,
 * but it has millisecond precision and no offset, so decoding always gives this class.
 */
export class VortexDateTime {
  /**
   * @param {{year:number, month:number, day:number, hour?:number, minute?:number,
   *   second?:number, microsecond?:number, utcOffsetMicros?:number|null}} fields
   */
  constructor({
    year,
    month,
    day,
    hour = 0,
    minute = 0,
    second = 0,
    microsecond = 0,
    utcOffsetMicros = null,
  }) {
    checkDate(year, month, day);
    checkRange("hour", hour, 0, 23);
    checkRange("minute", minute, 0, 59);
    checkRange("second", second, 0, 59);
    checkRange("microsecond", microsecond, 0, 999_999);
    if (utcOffsetMicros !== null) {
      checkRange("utcOffsetMicros", utcOffsetMicros, -DAY_MICROS + 1, DAY_MICROS - 1);
    }
    Object.assign(this, { year, month, day, hour, minute, second, microsecond, utcOffsetMicros });
    Object.freeze(this);
  }

  /** Parse Python's `datetime.isoformat()` text (the `~dt` grammar of wire-format.rst). */
  static parse(text) {
    const m = DATETIME_RE.exec(text);
    if (m === null) throw new RangeError(`${JSON.stringify(text)} is not an ISO 8601 datetime`);
    let utcOffsetMicros = null;
    if (m[8] !== undefined) {
      const magnitude =
        ((Number(m[9]) * 60 + Number(m[10])) * 60 + Number(m[11] ?? 0)) * 1_000_000 +
        Number(m[12] ?? 0);
      utcOffsetMicros = m[8] === "-" ? -magnitude : magnitude;
    }
    return new VortexDateTime({
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4]),
      minute: Number(m[5]),
      second: Number(m[6]),
      microsecond: Number(m[7] ?? 0),
      utcOffsetMicros,
    });
  }

  /** An aware UTC datetime for a JavaScript Date (millisecond precision). */
  static fromDate(date) {
    const time = date.getTime();
    if (!Number.isFinite(time)) throw new RangeError("cannot convert an invalid Date");
    return new VortexDateTime({
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      microsecond: date.getUTCMilliseconds() * 1000,
      utcOffsetMicros: 0,
    });
  }

  /** The current time as an aware UTC datetime. */
  static now() {
    return VortexDateTime.fromDate(new Date());
  }

  /** True when the datetime has no UTC offset. */
  get isNaive() {
    return this.utcOffsetMicros === null;
  }

  /**
   * A JavaScript Date (microseconds are truncated to milliseconds). A naive datetime has
   * no offset, so say how to read it: `naiveAs: "utc"` (default) or `"local"`.
   */
  toDate({ naiveAs = "utc" } = {}) {
    const ms = Math.floor(this.microsecond / 1000);
    if (this.isNaive && naiveAs === "local") {
      const local = new Date(2000, 0, 1, this.hour, this.minute, this.second, ms);
      local.setFullYear(this.year, this.month - 1, this.day);
      return local;
    }
    const utc = new Date(Date.UTC(2000, 0, 1, this.hour, this.minute, this.second, ms));
    utc.setUTCFullYear(this.year, this.month - 1, this.day);
    const offsetMs = this.isNaive ? 0 : Math.trunc(this.utcOffsetMicros / 1000);
    return new Date(utc.getTime() - offsetMs);
  }

  /** The ISO text, exactly as Python's `datetime.isoformat()` writes it. */
  toString() {
    let text =
      `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}` +
      `T${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}`;
    if (this.microsecond) text += `.${pad(this.microsecond, 6)}`;
    if (!this.isNaive) text += formatOffset(this.utcOffsetMicros);
    return text;
  }

  toJSON() {
    return this.toString();
  }

  /** True when other has the same fields and offset (not merely the same instant). */
  equals(other) {
    return other instanceof VortexDateTime && other.toString() === this.toString();
  }
}

/**
 * A Python `decimal.Decimal`, kept as its exact text (wire tag `~dec`): exponent, sign of
 * zero, NaN/sNaN payloads and Infinity all survive a round trip.
 */
export class VortexDecimal {
  /** @param {string} text decimal text such as `"-1.2500E+7"` */
  constructor(text) {
    if (typeof text !== "string" || !DECIMAL_RE.test(text)) {
      throw new RangeError(`${JSON.stringify(text)} is not a decimal number`);
    }
    this.text = text;
    Object.freeze(this);
  }

  /** The nearest JavaScript number (loses precision beyond ~16 digits). */
  toNumber() {
    const text = this.text.toLowerCase().replace(/^([+-]?)inf(inity)?$/, "$1Infinity");
    return text.includes("nan") ? Number.NaN : Number(text);
  }

  toString() {
    return this.text;
  }

  toJSON() {
    return this.text;
  }

  /** True when other has the same text (`1.0` and `1.00` differ, as their str does). */
  equals(other) {
    return other instanceof VortexDecimal && other.text === this.text;
  }
}
