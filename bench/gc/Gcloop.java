// 100 explicit collections with almost nothing live (a few KB), 20 KB of
// garbage between two: the same steps as gcloop.toy.
public class Gcloop {
  static final class Cell {
    long value;
    Cell next;
    Cell(long value, Cell next) { this.value = value; this.next = next; }
  }

  public static void main(String[] args) {
    Cell kept = null;
    for (int i = 0; i < 100; i++) kept = new Cell(i, kept);
    for (int r = 0; r < 100; r++) {
      Cell junk = null;
      for (int i = 0; i < 1000; i++) junk = new Cell(i, junk);
      System.gc();
    }
    long s = 0;
    while (kept != null) { s += kept.value; kept = kept.next; }
    System.out.println(s);
  }
}
