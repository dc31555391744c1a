// The Computer Language Benchmarks Game's n-body: float arithmetic on object
// fields. Argument: number of steps (default 5000000).
import java.util.Locale;

public class Nbody {
  static final double PI = 3.141592653589793;
  static final double SOLAR_MASS = 4.0 * PI * PI;
  static final double DAYS_PER_YEAR = 365.24;

  static final class Body {
    double x, y, z, vx, vy, vz, mass;
  }

  static Body body(double x, double y, double z, double vx, double vy, double vz, double m) {
    Body b = new Body();
    b.x = x; b.y = y; b.z = z;
    b.vx = vx * DAYS_PER_YEAR; b.vy = vy * DAYS_PER_YEAR; b.vz = vz * DAYS_PER_YEAR;
    b.mass = m * SOLAR_MASS;
    return b;
  }

  static Body[] system() {
    Body sun = new Body();
    sun.mass = SOLAR_MASS;
    Body jupiter = body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
                        1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
                        9.54791938424326609e-04);
    Body saturn = body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
                       -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
                       2.85885980666130812e-04);
    Body uranus = body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
                       2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
                       4.36624404335156298e-05);
    Body neptune = body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
                        2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
                        5.15138902046611451e-05);
    Body[] bodies = {sun, jupiter, saturn, uranus, neptune};
    double px = 0.0, py = 0.0, pz = 0.0;
    for (int i = 0; i < bodies.length; i++) {
      Body b = bodies[i];
      px += b.vx * b.mass; py += b.vy * b.mass; pz += b.vz * b.mass;
    }
    sun.vx = -px / SOLAR_MASS; sun.vy = -py / SOLAR_MASS; sun.vz = -pz / SOLAR_MASS;
    return bodies;
  }

  static void advance(Body[] bodies, double dt) {
    int n = bodies.length;
    for (int i = 0; i < n; i++) {
      Body bi = bodies[i];
      for (int j = i + 1; j < n; j++) {
        Body bj = bodies[j];
        double dx = bi.x - bj.x, dy = bi.y - bj.y, dz = bi.z - bj.z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * Math.sqrt(d2));
        bi.vx -= dx * bj.mass * mag; bi.vy -= dy * bj.mass * mag; bi.vz -= dz * bj.mass * mag;
        bj.vx += dx * bi.mass * mag; bj.vy += dy * bi.mass * mag; bj.vz += dz * bi.mass * mag;
      }
    }
    for (int i = 0; i < n; i++) {
      Body b = bodies[i];
      b.x += dt * b.vx; b.y += dt * b.vy; b.z += dt * b.vz;
    }
  }

  static double energy(Body[] bodies) {
    double e = 0.0;
    int n = bodies.length;
    for (int i = 0; i < n; i++) {
      Body bi = bodies[i];
      e += 0.5 * bi.mass * (bi.vx * bi.vx + bi.vy * bi.vy + bi.vz * bi.vz);
      for (int j = i + 1; j < n; j++) {
        Body bj = bodies[j];
        double dx = bi.x - bj.x, dy = bi.y - bj.y, dz = bi.z - bj.z;
        e -= bi.mass * bj.mass / Math.sqrt(dx * dx + dy * dy + dz * dz);
      }
    }
    return e;
  }

  public static void main(String[] args) {
    long steps = 5000000;
    if (args.length > 0) steps = Long.parseLong(args[0]);
    Body[] bodies = system();
    System.out.println(String.format(Locale.ROOT, "%.9f", energy(bodies)));
    for (long i = 0; i < steps; i++) advance(bodies, 0.01);
    System.out.println(String.format(Locale.ROOT, "%.9f", energy(bodies)));
  }
}
