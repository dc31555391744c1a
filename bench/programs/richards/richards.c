/* Richards: the classic OS task-scheduler simulation (after Martin Richards'
   BCPL original and the Wolczko/Octane versions). Task polymorphism is a kind
   field and a dispatch function (as in the Toy version); the task state is
   three booleans as in Wolczko's version. Argument: number of runs (default 5000).
   Every run must end with queue count 2322 and hold count 928.
   Each run's few dozen small objects are freed at the end of the run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum { ID_IDLE, ID_WORKER, ID_HANDLER_A, ID_HANDLER_B, ID_DEVICE_A, ID_DEVICE_B, NUMBER_OF_IDS };
enum { KIND_DEVICE, KIND_WORK };
enum { TASK_IDLE, TASK_WORKER, TASK_HANDLER, TASK_DEVICE };
#define DATA_SIZE 4
#define COUNT 1000
#define EXPECTED_QUEUE_COUNT 2322
#define EXPECTED_HOLD_COUNT 928

typedef struct Packet {
  struct Packet *link;
  long id, kind, a1;
  long *a2;
  struct Packet *all_next; /* every packet of a run, for freeing it */
} Packet;

typedef struct Task {
  long kind, v1, v2;
  Packet *p1, *p2;
} Task;

typedef struct Tcb {
  struct Tcb *link;
  long id, priority;
  Packet *queue;
  Task *task;
  bool packet_pending, task_waiting, task_holding;
} Tcb;

typedef struct Scheduler {
  long queue_count, hold_count;
  Tcb **blocks;
  Tcb *list, *current_tcb;
  long current_id;
  Packet *all_packets;
} Scheduler;

static Tcb *run_task(Scheduler *s, Task *task, Packet *packet);

/* ---- packets */

static Packet *new_packet(Scheduler *s, Packet *link, long id, long kind) {
  Packet *p = malloc(sizeof(Packet));
  p->link = link; p->id = id; p->kind = kind; p->a1 = 0;
  p->a2 = calloc(DATA_SIZE, sizeof(long));
  p->all_next = s->all_packets;
  s->all_packets = p;
  return p;
}

/* Appends p to the end of queue; returns the new queue. */
static Packet *add_to(Packet *p, Packet *queue) {
  p->link = NULL;
  if (queue == NULL) return p;
  Packet *next = queue;
  Packet *peek = next->link;
  while (peek != NULL) {
    next = peek;
    peek = next->link;
  }
  next->link = p;
  return queue;
}

/* ---- task control blocks */

static Tcb *new_tcb(Tcb *link, long id, long priority, Packet *queue, Task *task) {
  /* No queue: suspended; else suspended and runnable. */
  Tcb *t = malloc(sizeof(Tcb));
  t->link = link; t->id = id; t->priority = priority; t->queue = queue; t->task = task;
  t->packet_pending = queue != NULL;
  t->task_waiting = true;
  t->task_holding = false;
  return t;
}

static void set_running(Tcb *t) {
  t->packet_pending = false;
  t->task_waiting = false;
  t->task_holding = false;
}

static void mark_as_not_held(Tcb *t) { t->task_holding = false; }
static void mark_as_held(Tcb *t) { t->task_holding = true; }
static void mark_as_suspended(Tcb *t) { t->task_waiting = true; }
static void mark_as_runnable(Tcb *t) { t->packet_pending = true; }

static bool is_held_or_suspended(Tcb *t) {
  return t->task_holding || (!t->packet_pending && t->task_waiting);
}

static Tcb *run_tcb(Scheduler *s, Tcb *t) {
  Packet *packet = NULL;
  if (t->packet_pending && t->task_waiting && !t->task_holding) {
    packet = t->queue;
    t->queue = packet->link;
    if (t->queue == NULL) {
      set_running(t);
    } else {
      t->packet_pending = true;
      t->task_waiting = false;
      t->task_holding = false;
    }
  }
  return run_task(s, t->task, packet);
}

static Tcb *check_priority_add(Tcb *t, Tcb *task, Packet *packet) {
  if (t->queue == NULL) {
    t->queue = packet;
    mark_as_runnable(t);
    if (t->priority > task->priority) return t;
  } else {
    t->queue = add_to(packet, t->queue);
  }
  return task;
}

/* ---- scheduler */

static Scheduler *new_scheduler(void) {
  Scheduler *s = malloc(sizeof(Scheduler));
  s->queue_count = 0; s->hold_count = 0;
  s->blocks = calloc(NUMBER_OF_IDS, sizeof(Tcb *));
  s->list = NULL; s->current_tcb = NULL; s->current_id = 0;
  s->all_packets = NULL;
  return s;
}

static void free_scheduler(Scheduler *s) {
  Tcb *t = s->list;
  while (t != NULL) {
    Tcb *next = t->link;
    free(t->task);
    free(t);
    t = next;
  }
  Packet *p = s->all_packets;
  while (p != NULL) {
    Packet *next = p->all_next;
    free(p->a2);
    free(p);
    p = next;
  }
  free(s->blocks);
  free(s);
}

static Task *new_task(long kind, long v1, long v2) {
  Task *t = malloc(sizeof(Task));
  t->kind = kind; t->v1 = v1; t->v2 = v2; t->p1 = NULL; t->p2 = NULL;
  return t;
}

static void add_task(Scheduler *s, long id, long priority, Packet *queue, Task *task) {
  s->current_tcb = new_tcb(s->list, id, priority, queue, task);
  s->list = s->current_tcb;
  s->blocks[id] = s->current_tcb;
}

static void add_idle_task(Scheduler *s, long id, long priority, Packet *queue, long count) {
  add_task(s, id, priority, queue, new_task(TASK_IDLE, 1, count));
  set_running(s->current_tcb);
}

static void add_worker_task(Scheduler *s, long id, long priority, Packet *queue) {
  add_task(s, id, priority, queue, new_task(TASK_WORKER, ID_HANDLER_A, 0));
}

static void add_handler_task(Scheduler *s, long id, long priority, Packet *queue) {
  add_task(s, id, priority, queue, new_task(TASK_HANDLER, 0, 0));
}

static void add_device_task(Scheduler *s, long id, long priority, Packet *queue) {
  add_task(s, id, priority, queue, new_task(TASK_DEVICE, 0, 0));
}

static void schedule(Scheduler *s) {
  s->current_tcb = s->list;
  while (s->current_tcb != NULL) {
    if (is_held_or_suspended(s->current_tcb)) {
      s->current_tcb = s->current_tcb->link;
    } else {
      s->current_id = s->current_tcb->id;
      s->current_tcb = run_tcb(s, s->current_tcb);
    }
  }
}

static Tcb *release(Scheduler *s, long id) {
  Tcb *tcb = s->blocks[id];
  if (tcb == NULL) return tcb;
  mark_as_not_held(tcb);
  if (tcb->priority > s->current_tcb->priority) return tcb;
  return s->current_tcb;
}

static Tcb *hold_current(Scheduler *s) {
  s->hold_count++;
  mark_as_held(s->current_tcb);
  return s->current_tcb->link;
}

static Tcb *suspend_current(Scheduler *s) {
  mark_as_suspended(s->current_tcb);
  return s->current_tcb;
}

static Tcb *queue_packet(Scheduler *s, Packet *packet) {
  Tcb *t = s->blocks[packet->id];
  if (t == NULL) return t;
  s->queue_count++;
  packet->link = NULL;
  packet->id = s->current_id;
  return check_priority_add(t, s->current_tcb, packet);
}

/* ---- the four kinds of task */

/* v1: a pseudo-random seed; v2: the remaining count. */
static Tcb *run_idle(Scheduler *s, Task *t) {
  t->v2--;
  if (t->v2 == 0) return hold_current(s);
  if ((t->v1 & 1) == 0) {
    t->v1 = t->v1 >> 1;
    return release(s, ID_DEVICE_A);
  }
  t->v1 = (t->v1 >> 1) ^ 0xD008;
  return release(s, ID_DEVICE_B);
}

/* p1: the pending packet. */
static Tcb *run_device(Scheduler *s, Task *t, Packet *packet) {
  if (packet == NULL) {
    if (t->p1 == NULL) return suspend_current(s);
    Packet *v = t->p1;
    t->p1 = NULL;
    return queue_packet(s, v);
  }
  t->p1 = packet;
  return hold_current(s);
}

/* v1: the destination handler; v2: a counter. */
static Tcb *run_worker(Scheduler *s, Task *t, Packet *packet) {
  if (packet == NULL) return suspend_current(s);
  if (t->v1 == ID_HANDLER_A) t->v1 = ID_HANDLER_B; else t->v1 = ID_HANDLER_A;
  packet->id = t->v1;
  packet->a1 = 0;
  for (long i = 0; i < DATA_SIZE; i++) {
    t->v2++;
    if (t->v2 > 26) t->v2 = 1;
    packet->a2[i] = t->v2;
  }
  return queue_packet(s, packet);
}

/* p1: the work packet queue; p2: the device packet queue. */
static Tcb *run_handler(Scheduler *s, Task *t, Packet *packet) {
  if (packet != NULL) {
    if (packet->kind == KIND_WORK) {
      t->p1 = add_to(packet, t->p1);
    } else {
      t->p2 = add_to(packet, t->p2);
    }
  }
  if (t->p1 != NULL) {
    long count = t->p1->a1;
    if (count < DATA_SIZE) {
      if (t->p2 != NULL) {
        Packet *v = t->p2;
        t->p2 = t->p2->link;
        v->a1 = t->p1->a2[count];
        t->p1->a1 = count + 1;
        return queue_packet(s, v);
      }
    } else {
      Packet *v = t->p1;
      t->p1 = t->p1->link;
      return queue_packet(s, v);
    }
  }
  return suspend_current(s);
}

static Tcb *run_task(Scheduler *s, Task *task, Packet *packet) {
  long k = task->kind;
  if (k == TASK_IDLE) return run_idle(s, task);
  if (k == TASK_WORKER) return run_worker(s, task, packet);
  if (k == TASK_HANDLER) return run_handler(s, task, packet);
  return run_device(s, task, packet);
}

/* ---- one run */

static Scheduler *run_richards(void) {
  Scheduler *s = new_scheduler();
  add_idle_task(s, ID_IDLE, 0, NULL, COUNT);

  Packet *queue = new_packet(s, NULL, ID_WORKER, KIND_WORK);
  queue = new_packet(s, queue, ID_WORKER, KIND_WORK);
  add_worker_task(s, ID_WORKER, 1000, queue);

  queue = new_packet(s, NULL, ID_DEVICE_A, KIND_DEVICE);
  queue = new_packet(s, queue, ID_DEVICE_A, KIND_DEVICE);
  queue = new_packet(s, queue, ID_DEVICE_A, KIND_DEVICE);
  add_handler_task(s, ID_HANDLER_A, 2000, queue);

  queue = new_packet(s, NULL, ID_DEVICE_B, KIND_DEVICE);
  queue = new_packet(s, queue, ID_DEVICE_B, KIND_DEVICE);
  queue = new_packet(s, queue, ID_DEVICE_B, KIND_DEVICE);
  add_handler_task(s, ID_HANDLER_B, 3000, queue);

  add_device_task(s, ID_DEVICE_A, 4000, NULL);
  add_device_task(s, ID_DEVICE_B, 5000, NULL);
  schedule(s);
  return s;
}

int main(int argc, char **argv) {
  long runs = 5000;
  if (argc > 1) runs = atol(argv[1]);
  long queue_count = 0, hold_count = 0;
  for (long i = 0; i < runs; i++) {
    Scheduler *s = run_richards();
    queue_count = s->queue_count;
    hold_count = s->hold_count;
    free_scheduler(s);
    if (queue_count != EXPECTED_QUEUE_COUNT || hold_count != EXPECTED_HOLD_COUNT) {
      printf("richards: bad result: queue count %ld, hold count %ld\n", queue_count, hold_count);
      return 1;
    }
  }
  printf("queue count: %ld\nhold count: %ld\n", queue_count, hold_count);
  return 0;
}
