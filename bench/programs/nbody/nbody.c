/* The Computer Language Benchmarks Game's n-body: float arithmetic on struct
   fields. Argument: number of steps (default 5000000). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.141592653589793
#define SOLAR_MASS (4.0 * PI * PI)
#define DAYS_PER_YEAR 365.24

typedef struct {
  double x, y, z, vx, vy, vz, mass;
} Body;

static Body *body(double x, double y, double z, double vx, double vy, double vz, double m) {
  Body *b = malloc(sizeof(Body));
  b->x = x; b->y = y; b->z = z;
  b->vx = vx * DAYS_PER_YEAR; b->vy = vy * DAYS_PER_YEAR; b->vz = vz * DAYS_PER_YEAR;
  b->mass = m * SOLAR_MASS;
  return b;
}

static int system_bodies(Body **bodies) {
  Body *sun = malloc(sizeof(Body));
  sun->x = sun->y = sun->z = sun->vx = sun->vy = sun->vz = 0.0;
  sun->mass = SOLAR_MASS;
  bodies[0] = sun;
  bodies[1] = body(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
                   1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
                   9.54791938424326609e-04);
  bodies[2] = body(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
                   -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
                   2.85885980666130812e-04);
  bodies[3] = body(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
                   2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
                   4.36624404335156298e-05);
  bodies[4] = body(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
                   2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
                   5.15138902046611451e-05);
  int n = 5;
  double px = 0.0, py = 0.0, pz = 0.0;
  for (int i = 0; i < n; i++) {
    Body *b = bodies[i];
    px += b->vx * b->mass; py += b->vy * b->mass; pz += b->vz * b->mass;
  }
  sun->vx = -px / SOLAR_MASS; sun->vy = -py / SOLAR_MASS; sun->vz = -pz / SOLAR_MASS;
  return n;
}

static void advance(Body **bodies, int n, double dt) {
  for (int i = 0; i < n; i++) {
    Body *bi = bodies[i];
    for (int j = i + 1; j < n; j++) {
      Body *bj = bodies[j];
      double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      bi->vx -= dx * bj->mass * mag; bi->vy -= dy * bj->mass * mag; bi->vz -= dz * bj->mass * mag;
      bj->vx += dx * bi->mass * mag; bj->vy += dy * bi->mass * mag; bj->vz += dz * bi->mass * mag;
    }
  }
  for (int i = 0; i < n; i++) {
    Body *b = bodies[i];
    b->x += dt * b->vx; b->y += dt * b->vy; b->z += dt * b->vz;
  }
}

static double energy(Body **bodies, int n) {
  double e = 0.0;
  for (int i = 0; i < n; i++) {
    Body *bi = bodies[i];
    e += 0.5 * bi->mass * (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
    for (int j = i + 1; j < n; j++) {
      Body *bj = bodies[j];
      double dx = bi->x - bj->x, dy = bi->y - bj->y, dz = bi->z - bj->z;
      e -= bi->mass * bj->mass / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

int main(int argc, char **argv) {
  long steps = 5000000;
  if (argc > 1) steps = atol(argv[1]);
  Body *bodies[5];
  int n = system_bodies(bodies);
  printf("%.9f\n", energy(bodies, n));
  for (long i = 0; i < steps; i++) advance(bodies, n, 0.01);
  printf("%.9f\n", energy(bodies, n));
  for (int i = 0; i < n; i++) free(bodies[i]);
  return 0;
}
